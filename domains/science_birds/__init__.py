"""Science Birds level generation (ChatGPT4PCG 2): levels shaped like letters."""
