"""The machine's set-up: base images pulled or built as local stand-ins (stand_ins, recipes, mirror), the buildx
plugin, offline bundles, and `workshop doctor`."""
