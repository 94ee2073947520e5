"""Where a build's settings come from: defaults, a config-file section, the environment, flags."""
