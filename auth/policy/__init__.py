"""Authorization: principal + action + resource -> allow or deny. Pure."""
