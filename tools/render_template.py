#!/usr/bin/env python3
"""Renders a SAM template through the SAM translator, as CloudFormation receives it, and prints
it as sorted JSON: `tools/render_template.py [template.yaml]`. Comparing two renderings shows
what a change to the template changes in the deployed resources, e.g.

    git show HEAD~1:template.yaml > /tmp/before.yaml
    diff <(tools/render_template.py /tmp/before.yaml) <(tools/render_template.py)
"""

import json
import os
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policy names only when a template names one by
    name; this template names its policies by reference, so nothing is looked up."""

    def load(self):
        return {}


def render(path):
    # The translator resolves a few pseudo parameters (AWS::Region) itself; any region will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    # As `sam package` does: the code's local path becomes an S3 object (the same one for all).
    code_owners = [template.get("Globals", {}).get("Function", {})]
    code_owners += [r.get("Properties", {}) for r in template["Resources"].values()
                    if r["Type"] == "AWS::Serverless::Function"]
    for properties in code_owners:
        if "CodeUri" in properties:
            properties["CodeUri"] = "s3://bucket/code.zip"
    return transform(template, {}, NoManagedPolicies())


if __name__ == "__main__":
    rendered = render(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    json.dump(rendered, sys.stdout, indent=1, sort_keys=True)
    print()
