"""Stage 2: compiling recommendations into plans (recipes, venue adapters, approvals, gas)."""
