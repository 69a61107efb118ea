"""学 credentials: programmes with declared level criteria, progress, certificates (verification, QR, PDF, Open Badges 3.0)."""
