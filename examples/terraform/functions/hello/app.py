"""The example function: `six` is its own dependency, `attrs` comes from the `common` layer."""

import attrs
import six


def handler(event, context):
    return {"six": six.__version__, "attrs": attrs.__version__}
