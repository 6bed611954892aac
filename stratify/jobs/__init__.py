"""Long-running work (imports, stratification runs) as tenant-scoped jobs any worker can pick up."""
