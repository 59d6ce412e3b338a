"""Every write of payments, one module per flow: card_setup, charging, recovery, webhooks,
sandbox."""
