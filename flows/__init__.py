"""Phoenix's capability flows, one module per capability: router, propose, memory, speak, ..."""
