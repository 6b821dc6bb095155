"""Write the benchmark scenario into DIR: rows.csv (10,000 rows) and
scenario.toml (10 named POST requests, weights 1..10, whose paths and JSON
bodies take the rows). Used by scenario-cost.sh and hotpath-allocs.sh."""
import sys

d = sys.argv[1]
with open(f"{d}/rows.csv", "w") as f:
    f.write("user,item\n")
    for i in range(10_000):
        f.write(f"{i},{i * 7 % 1000}\n")
with open(f"{d}/scenario.toml", "w") as f:
    f.write(f'data = "{d}/rows.csv"\n')
    for r in range(10):
        f.write(f"""
[[request]]
name = "api{r}"
method = "POST"
path = "/api/{r}?u={{{{user}}}}"
headers = {{ "Content-Type" = "application/json" }}
body = '{{"user": {{{{user}}}}, "item": {{{{item}}}}}}'
weight = {r + 1}
""")
