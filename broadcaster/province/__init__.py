"""The province link (Thông tư 39/2020's source system, one level up since July 2025): campaigns
and emergencies from the province to every commune station through an MQTT broker, presence,
heartbeats and as-run rows back. The wire format is `messages`, the topic tree `topics`."""
