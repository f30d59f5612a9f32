"""The strategies that ship with gatekit (filled in by the strategies work)."""
