"""What the university's IT runs the service with: the process's start and clean stop,
metrics for Prometheus, the readiness check for the balancer."""
