"""The HTTP plumbing both sides share: app keys, error responses, middlewares, the caller's
address, static assets."""
