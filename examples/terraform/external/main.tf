# The alternative: Terraform runs lambdapack itself on every plan, through the external data
# source (../lambdapack_external.py; Python 3.10+ and lambdapack on PATH). A no-change rebuild is
# a cache hit with the same bytes, so the hash, and the plan, stay the same.

terraform {
  required_providers {
    aws      = { source = "hashicorp/aws", version = ">= 5.0" }
    external = { source = "hashicorp/external", version = ">= 2.0" }
  }
}

variable "role_arn" {
  type        = string
  description = "the function's execution role"
}

locals {
  project = abspath("${path.module}/..")
}

data "external" "common" {
  program = ["python3", "${local.project}/lambdapack_external.py"]
  query   = { name = "common", kind = "layer", project = local.project }
}

data "external" "hello" {
  program = ["python3", "${local.project}/lambdapack_external.py"]
  query   = { name = "hello", kind = "function", project = local.project }
}

resource "aws_lambda_layer_version" "common" {
  layer_name               = "common"
  filename                 = data.external.common.result.path
  source_code_hash         = data.external.common.result.sha256_base64
  compatible_runtimes      = [data.external.common.result.runtime]
  compatible_architectures = [data.external.common.result.arch]
}

resource "aws_lambda_function" "hello" {
  function_name    = "lambdapack-example-hello"
  role             = var.role_arn
  filename         = data.external.hello.result.path
  source_code_hash = data.external.hello.result.sha256_base64
  handler          = data.external.hello.result.handler
  runtime          = data.external.hello.result.runtime
  architectures    = [data.external.hello.result.arch]
  layers           = [aws_lambda_layer_version.common.arn]
}
