"""Teams, news and ratings."""
