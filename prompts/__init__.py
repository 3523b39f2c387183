"""The prompt templates (*.txt): data, not code. Installed as the package ``assistant.prompts``
(pyproject.toml maps this folder there) so that ``importlib.resources`` finds them in a wheel and in
a checkout alike."""
