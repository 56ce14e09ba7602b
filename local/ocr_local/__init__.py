"""Running the OCR API on a developer's machine, without Docker.

An in-process stand-in for ``sam local``: it reads ``template.yaml``, builds the API Gateway
proxy events AWS would, invokes the real handler, and serves DynamoDB from moto.
"""
