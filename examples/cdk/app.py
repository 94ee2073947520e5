"""A CDK app deploying the lambdapack project in this folder: one function and its layer.

`cdk synth` / `cdk deploy` run `lambdapack build` first (the "build" command in cdk.json), which
writes the zips and dist/lambdapack.json; the constructs take every target from the manifest.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from lambdapack_cdk import Artifact, artifact

MANIFEST = Path(__file__).parent / "dist" / "lambdapack.json"
ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}


def runtime(a: Artifact) -> lambda_.Runtime:
    return lambda_.Runtime(a.runtime, lambda_.RuntimeFamily.PYTHON)


app = cdk.App()
stack = cdk.Stack(app, "LambdapackExample")

common = artifact("common", kind="layer", manifest=MANIFEST)
layer = lambda_.LayerVersion(
    stack, "Common",
    code=lambda_.Code.from_asset(common.path),  # a .zip file is uploaded as it is
    compatible_runtimes=[runtime(common)],
    compatible_architectures=[ARCHITECTURES[common.arch]],
)

hello = artifact("hello", kind="function", manifest=MANIFEST)
lambda_.Function(
    stack, "Hello",
    code=lambda_.Code.from_asset(hello.path),
    handler=hello.handler,
    runtime=runtime(hello),
    architecture=ARCHITECTURES[hello.arch],
    layers=[layer],
)

app.synth()
