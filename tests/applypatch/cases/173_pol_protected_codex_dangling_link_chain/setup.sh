ln -s cfg-link .codex && ln -s store/cfg cfg-link
