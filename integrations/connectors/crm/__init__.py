"""CRM connectors (HubSpot). The customer lifecycle goes out data-minimised; account managers
come back. See docs/crm.md."""
