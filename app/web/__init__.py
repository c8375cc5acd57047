"""HTTP plumbing for every blueprint: bounded bodies, CSP, proxies, cookie session, frames, access log."""
