#!/bin/sh
# Print the "systems" fragment of src/lambdapack/data/amazonlinux.json for the
# Lambda image this runs in. Run it inside a Lambda Python base image, e.g.
#
#   docker run --rm --entrypoint /bin/sh -v "$PWD/scripts:/s:ro" \
#       public.ecr.aws/lambda/python:3.12 /s/collect_al_libs.sh
#
# once per Amazon Linux version (an AL2 tag such as 3.11, an AL2023 tag such as
# 3.12) and per architecture (add --platform linux/arm64), then merge the output
# into the JSON by hand (union over architectures; keep "sources"/"notes" current).
# It can also run inside a deployed function (subprocess.run(["sh", path])) to
# see the real managed runtime rather than the container image.
#
# NOTE: written where Docker does not run, so this script has not been executed;
# the committed data was compiled from the sources listed in the JSON instead.
# (Its parsing was only smoke-tested on a Debian host, where it prints Debian's libraries.)
#
# Output: {"<PRETTY_NAME>": {"arch": ..., "sonames": [...], "runtime_sonames": [...]}}
#   sonames          every soname in the loader cache (ldconfig -p), i.e. /lib64,
#                    /usr/lib64 and anything listed in /etc/ld.so.conf.d (unversioned
#                    libfoo.so names come from -devel packages installed into the
#                    image; drop them unless the library's real SONAME is unversioned)
#   runtime_sonames  shared objects in /var/lang/lib (libpython3.X.so.1.0, ...)
set -eu

# NAME="Amazon Linux", VERSION_ID="2" or "2023": the names Runtime.os uses.
os_name=$(. /etc/os-release && printf '%s %s' "$NAME" "$VERSION_ID")
arch=$(uname -m)

# "\tlibz.so.1 (libc6,x86-64) => /lib64/libz.so.1" -> "libz.so.1"
sonames=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p) | sed -n 's/^[[:space:]]\{1,\}\([^ ]*\) (.*) => .*/\1/p' | sort -u)
runtime=$(ls /var/lang/lib 2>/dev/null | grep -E '^lib.*\.so(\.[0-9]+)*$' | sort -u || true)

PYTHON=$(command -v python3 || echo /var/lang/bin/python3)
SONAMES="$sonames" RUNTIME="$runtime" OS_NAME="$os_name" ARCH="$arch" "$PYTHON" - <<'PY'
import json, os
def lines(key):
    return [s for s in os.environ[key].splitlines() if s]
print(json.dumps({os.environ["OS_NAME"]: {
    "arch": os.environ["ARCH"],
    "sonames": lines("SONAMES"),
    "runtime_sonames": lines("RUNTIME"),
}}, indent=2))
PY
