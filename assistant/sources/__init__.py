"""Who says it (issue 32, points 3 and 4): a story's copies read once and named
(`copies`), and whether the outlets agree or differ on the short answer (`agreement`)."""
