"""The gated, resumable cutover: a pure state machine, state stores with a lock, real actions."""
