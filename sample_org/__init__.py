"""A seeded fake organisation and a loopback server that serves it in the real source APIs' shapes."""

from sample_org.generator import Organisation, Service, generate, sample_tokens, token_environment
from sample_org.server import SampleServer

__all__ = ["Organisation", "SampleServer", "Service", "generate", "sample_tokens", "token_environment"]
