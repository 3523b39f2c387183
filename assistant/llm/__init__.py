"""The language-model backends (embedded llama.cpp server, Ollama) behind one contract, and the
packaged model files."""
