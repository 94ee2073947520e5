"""Where a build's settings come from: defaults, the project config file (its defaults and a function's section), the environment, flags."""
