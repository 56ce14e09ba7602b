"""Asynchronous recognition of many pages: a job, its pages, and what each page came to."""
