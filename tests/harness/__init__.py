"""End-to-end test harness: a private real Postfix, the real milter, a real SMTP sink."""
