# Deploys the lambdapack project in this folder. Run `lambdapack build` first: it writes the zips
# and dist/lambdapack.json; handler, runtime and architecture come from that manifest, and
# source_code_hash (base64 SHA-256, Lambda's CodeSha256) changes only when a zip's bytes do, so
# an unchanged rebuild plans no change. external/main.tf is the alternative that builds on plan.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

locals {
  dist     = "${path.module}/dist"
  manifest = jsondecode(file("${local.dist}/lambdapack.json"))
  # "function/hello", "layer/common": a name built for several targets needs the arch in its key too.
  artifacts = { for a in local.manifest.artifacts : "${a.kind}/${a.name}" => a }
  hello     = local.artifacts["function/hello"]
  common    = local.artifacts["layer/common"]
}

resource "aws_lambda_layer_version" "common" {
  layer_name               = "common"
  filename                 = "${local.dist}/${local.common.path}"
  source_code_hash         = filebase64sha256("${local.dist}/${local.common.path}")
  compatible_runtimes      = [local.common.runtime]
  compatible_architectures = [local.common.arch]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "hello" {
  name               = "lambdapack-example-hello"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "hello_logs" {
  role       = aws_iam_role.hello.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "hello" {
  function_name    = "lambdapack-example-hello"
  role             = aws_iam_role.hello.arn
  filename         = "${local.dist}/${local.hello.path}"
  source_code_hash = filebase64sha256("${local.dist}/${local.hello.path}")
  handler          = local.hello.handler
  runtime          = local.hello.runtime
  architectures    = [local.hello.arch]
  layers           = [aws_lambda_layer_version.common.arn]
}
