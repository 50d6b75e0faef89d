"""Jobs: durable long operations (`job_…`), claimed by workers under a lease."""
