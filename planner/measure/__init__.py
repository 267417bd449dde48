"""Measurements against the real runtimes (llama.cpp through llama-cpp-python); records under
profiles/measurements/. Heavy dependencies are imported only inside the functions that need them."""
