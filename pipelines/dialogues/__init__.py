"""The dialogue pipeline: doctor-patient conversations in many formats → one SFT dataset."""
