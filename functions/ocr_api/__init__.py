"""An OCR API for AWS Lambda: image in, text lines out, behind API Gateway."""
