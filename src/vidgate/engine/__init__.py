"""Running jobs: pure polling policy, job-state transitions, downloads."""
