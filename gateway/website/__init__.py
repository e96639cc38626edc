"""The website endpoint: buckets served as static web sites (gateway/s3/website.py has the
rules; endpoint.py the requests; pages.py the HTML error pages; cache.py the configurations)."""
