// jsonwebtoken.sign per token, as the official example calls it: prints the median time per
// call (ns) over rounds of calls, as JSON, for `make bench` to compare with the Rust mint.
const jwt = require("jsonwebtoken");

const crypto = require("crypto");

const rounds = Number(process.argv[2] || 30);
const perRound = Number(process.argv[3] || 2000);
const secret = "bench-secret-0123456789";
const options = { expiresIn: "10m", algorithm: "HS256" };
const payload = { apikey: "bench-api-key", permissions: ["allow_join"], version: 2, roles: ["rtc"] };

function median(sign) {
  for (let i = 0; i < perRound; i++) sign(); // warm-up: JIT
  const perCall = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) sign();
    perCall.push(Number(process.hrtime.bigint() - started) / perRound);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(perCall.length / 2)];
}

// As the example calls it: the secret as a string (jsonwebtoken 9 first tries it as a PEM
// private key, and that failure is most of the time). Also with a prepared KeyObject, the
// fastest a Node server gets with this library.
const keyObject = crypto.createSecretKey(Buffer.from(secret));
console.log(JSON.stringify({
  median_ns: median(() => jwt.sign(payload, secret, options)),
  key_object_median_ns: median(() => jwt.sign(payload, keyObject, options)),
  rounds,
  per_round: perRound,
}));
