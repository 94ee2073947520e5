"""`lambdapack deploy` and `lambdapack publish-layer` (docs/deploy.md): update existing functions
and publish layer versions, only where the bytes changed."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lambdapack.cli.arguments import Once, add_format, epilog
from lambdapack.cli.jsonout import failure, print_json, result
from lambdapack.errors import UsageError

if TYPE_CHECKING:  # imported where used: the parser is made for every command
    from lambdapack.config.project import Project
    from lambdapack.deploy.plan import Artifact

__all__ = ["PUBLISH_LAYER", "add_parser", "run"]


def _add_aws(p: argparse.ArgumentParser) -> None:
    aws = p.add_argument_group("AWS (default: boto3's chain, as the AWS CLI: AWS_REGION, AWS_PROFILE, "
                               "AWS_ENDPOINT_URL, ~/.aws/config)")
    aws.add_argument("--region", metavar="REGION", action=Once, help="the AWS region")
    aws.add_argument("--profile", metavar="NAME", action=Once, help="a profile of ~/.aws/config")
    aws.add_argument("--endpoint-url", metavar="URL", action=Once, help="another endpoint (LocalStack, moto)")
    aws.add_argument("--s3-bucket", metavar="s3://BUCKET/PREFIX", action=Once,
                     help="where zips over 50 MiB are uploaded, by content (config deploy_bucket, "
                     "$LAMBDAPACK_DEPLOY_BUCKET)")
    aws.add_argument("--wait-timeout", type=float, metavar="SECONDS", default=300.0, action=Once,
                     help="how long to wait for each function update to finish (default 300)")
    p.add_argument("--dry-run", action="store_true",
                   help="read only: print what would be published, reused, updated or left unchanged, and why")
    add_format(p, "deploy")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "deploy", help="update existing Lambda functions (and publish their layers) where the bytes changed",
        description="Build the project (as `lambdapack build`), then publish each layer version whose "
        "CodeSha256 AWS does not have, and update each function's code and layers where they differ. "
        "Functions are never created. See docs/deploy.md.",
        epilog=epilog("deploy", "lambdapack deploy                     # the whole project",
                      "lambdapack deploy api --dry-run",
                      "lambdapack deploy --zip dist/api.zip --function-name orders-api"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("names", nargs="*", metavar="NAME",
                   help="the project's functions and layers to deploy (default: all; a function's layers with it)")
    d.add_argument("--config", type=Path, metavar="FILE", action=Once, help="the project config (as for build)")
    d.add_argument("--no-build", action="store_true",
                   help="deploy what dist/lambdapack.json lists, after checking each zip's sha256 against it")
    d.add_argument("-j", "--jobs", type=int, metavar="N", action=Once, help="artifacts built at once")
    d.add_argument("-q", "--quiet", action="count", default=0, help="no build table (-qq: nothing but errors)")
    one = d.add_argument_group("one zip (instead of a project)")
    one.add_argument("--zip", type=Path, metavar="ZIP", action=Once, help="a built function zip")
    one.add_argument("--function-name", metavar="NAME", action=Once, help="the function --zip updates")
    one.add_argument("--layer-arn", action="append", default=[], metavar="ARN",
                     help="a layer version the function uses, in order (repeatable)")
    one.add_argument("--runtime", metavar="NAME", action=Once,
                     help="the zip's runtime (default: from its wheel tags, else not compared)")
    one.add_argument("--arch", metavar="ARCH", action=Once, help="the zip's architecture (as --runtime)")
    _add_aws(d)


def _add_publish_layer(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "publish-layer", help="publish a layer version unless one with the same bytes exists; print its ARN",
        description="Publish LAYER_ZIP as a version of --layer-name, or reuse the version that has the same "
        "CodeSha256 and declares the same runtimes and architectures. See docs/deploy.md.",
        epilog=epilog("publish-layer", "lambdapack publish-layer dist/layer.zip --layer-name deps "
                      "--runtime python3.12 --arch arm64"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("zip", type=Path, metavar="LAYER_ZIP", help="a built layer zip (python/... inside)")
    p.add_argument("--layer-name", required=True, metavar="NAME", action=Once, help="the layer's name in AWS")
    p.add_argument("--runtime", action="append", default=[], metavar="NAME",
                   help="a compatible runtime to declare (repeatable; default: none declared)")
    p.add_argument("--arch", action="append", default=[], metavar="ARCH",
                   help="a compatible architecture to declare (repeatable)")
    _add_aws(p)


def _request(args: argparse.Namespace, artifacts: Sequence[Artifact], file_bucket: object = None) -> object:
    from lambdapack.aws.s3location import parse_s3_url
    from lambdapack.aws.session import AwsSettings
    from lambdapack.deploy.actions import Waiting
    from lambdapack.deploy.run import Request

    if args.wait_timeout <= 0:
        raise UsageError(f"--wait-timeout {args.wait_timeout:g}: give a positive number of seconds")
    flags = {"deploy_bucket": args.s3_bucket} if args.s3_bucket else {}
    file = {"deploy_bucket": file_bucket} if file_bucket else {}
    from lambdapack.config.settings import Layers, setting_named, value_of

    bucket = value_of(setting_named("deploy_bucket"), Layers(flags=flags, environ=os.environ, file=file))
    # AWS_REGION as the AWS CLI v2 reads it (over AWS_DEFAULT_REGION); botocore reads only the latter.
    region = args.region or os.environ.get("AWS_REGION") or None
    return Request(artifacts, AwsSettings(region, args.profile, args.endpoint_url),
                   parse_s3_url(bucket, "the S3 bucket") if bucket else None, Waiting(args.wait_timeout),
                   args.dry_run)


def _report(args: argparse.Namespace, request: object, arn_only: bool = False) -> int:
    from lambdapack.deploy.run import Request, deploy
    from lambdapack.deploy.summary import deployed_dict, text_lines

    assert isinstance(request, Request)
    done = deploy(request)
    if args.format == "json":
        print_json(result(deployed_dict(done)))
    else:
        for line in text_lines(done):
            print(line)
        if arn_only and done.layers and done.layers[0].arn:
            print(done.layers[0].arn)
    return 0


def _zip_target(args: argparse.Namespace) -> tuple[str, str]:
    """--runtime/--arch, else what the zip's wheel tags say; "" where they do not tell."""
    from lambdapack.facts.runtimes import get_arch, get_runtime
    from lambdapack.inspect.archive import open_artifact
    from lambdapack.inspect.check import infer_target

    runtime, arch = args.runtime, args.arch
    if runtime is None or arch is None:
        with open_artifact(args.zip) as art:
            rt_guess, arch_guess, _ = infer_target([art])
        runtime, arch = runtime or rt_guess, arch or arch_guess
    return (get_runtime(runtime).name if runtime else "", get_arch(arch).value if arch else "")


def _one_zip(args: argparse.Namespace) -> int:
    from lambdapack.deploy.artifacts import zip_artifact

    if args.function_name is None:
        raise UsageError("--zip needs --function-name: the function to update", "pass --function-name NAME")
    if args.names or args.no_build:
        raise UsageError("--zip deploys one zip: not with project NAMEs or --no-build")
    artifact = zip_artifact(args.zip, "function", args.function_name, _zip_target(args),
                            layer_arns=tuple(args.layer_arn))
    return _report(args, _request(args, [artifact]))


def _project(args: argparse.Namespace) -> int:
    from lambdapack.deploy.artifacts import project_artifacts
    from lambdapack.project.manifest import MANIFEST_NAME, read_manifest

    if args.function_name or args.layer_arn or args.runtime or args.arch:
        raise UsageError("--function-name, --layer-arn, --runtime and --arch are for --zip",
                         "in a project, set function_name and layer_arns in the function's table (docs/config.md)")
    from lambdapack.config.projectfile import load_project

    project = load_project(args.config, Path.cwd())
    if not project.functions and not project.layers:
        raise UsageError("no project config here (and no --zip)",
                         "run it in a project (docs/config.md), or pass --zip ZIP --function-name NAME")
    if not args.no_build:
        code = _build(project, args)
        if code != 0:
            if args.format == "json":  # the build's own errors went to stderr: nothing was deployed
                print_json(failure("the build failed, so nothing was deployed (its errors are on stderr)",
                                   "fix the build, then deploy again", code))
            return code
    manifest = project.output_dir / MANIFEST_NAME
    entries = read_manifest(manifest)
    artifacts = project_artifacts(project, entries, manifest.parent, args.names)
    return _report(args, _request(args, artifacts, project.defaults.get("deploy_bucket")))


def _build(project: Project, args: argparse.Namespace) -> int:
    """`lambdapack build [NAME...]`'s own code path and output (none of it under --format json)."""
    from lambdapack.cli.projectbuild import build_project

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more")
    quiet = 2 if args.format == "json" else args.quiet
    build_args = argparse.Namespace(format="text", quiet=quiet, jobs=args.jobs, report=None)
    return build_project(project, args.names, {}, build_args)


def run(args: argparse.Namespace) -> int:
    return _one_zip(args) if args.zip is not None else _project(args)


def _publish(args: argparse.Namespace) -> int:
    from lambdapack.deploy.artifacts import zip_artifact
    from lambdapack.facts.runtimes import get_arch, get_runtime

    runtimes = tuple(dict.fromkeys(get_runtime(r).name for r in args.runtime))
    arches = tuple(dict.fromkeys(get_arch(a).value for a in args.arch))
    target = (runtimes[0] if runtimes else "", arches[0] if arches else "")
    artifact = zip_artifact(args.zip, "layer", args.layer_name, target, runtimes=runtimes, architectures=arches)
    return _report(args, _request(args, [artifact]), arn_only=True)


class _PublishLayer:
    """`lambdapack publish-layer`, a command of this module (cli.parser's COMMANDS)."""

    add_parser = staticmethod(_add_publish_layer)
    run = staticmethod(_publish)


PUBLISH_LAYER = _PublishLayer()
