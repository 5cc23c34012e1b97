"""The GoldMine connector: contacts and opportunities from its SQL database or dBase files."""
