"""Trợ lý số: a chatbot that helps Ho Chi Minh City residents use digital services."""
