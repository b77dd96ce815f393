"""Integrations: the send-email hook, b4's check command, merging sharded reports, SMTP and
public-inbox."""
