// The shape of VideoSDK's official Node token server (videosdk-rtc-api-server-examples):
// Express with cors and JSON bodies, GET /get-token signing an HS256 participant token with
// jsonwebtoken. Credentials come from the environment instead of the source. `make bench` times
// spawn -> first token of this process against the Rust functions.
const express = require("express");
const cors = require("cors");
const jwt = require("jsonwebtoken");

const API_KEY = process.env.VIDEOSDK_API_KEY;
const SECRET_KEY = process.env.VIDEOSDK_SECRET;
const PORT = Number(process.env.PORT || 9000);

const app = express();
app.use(cors());
app.use(express.json());
app.use(express.urlencoded({ extended: true }));

app.get("/get-token", (req, res) => {
  const options = { expiresIn: "10m", algorithm: "HS256" };
  const payload = { apikey: API_KEY, permissions: ["allow_join", "allow_mod"] };
  const token = jwt.sign(payload, SECRET_KEY, options);
  res.json({ token });
});

app.listen(PORT, "127.0.0.1");
