print("switchgym")
