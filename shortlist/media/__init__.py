"""Reading media: probing, the one-pass decode, fetching from URLs and buckets."""
