"""Where original files live: one content-addressed interface, a local folder or S3-compatible storage."""
