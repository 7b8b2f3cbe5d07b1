"""Stage 4: running a plan. `apply_plan` is the shared engine; runners are found by entry point."""
