"""Tests of simvoip.net on real loopback sockets."""
