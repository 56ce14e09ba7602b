"""Adapters for every outside service: DynamoDB (keys, plans, counters), API Gateway (usage-plan
keys), and the network (image URLs). Each turns its library's failures into domain errors."""
