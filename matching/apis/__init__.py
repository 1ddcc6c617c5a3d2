"""HTTP endpoints of the matching app: one APIView per operation, each with its own serializers.

matches   ranked candidates for a job, ranked jobs for a resume, a pair's score (-> matching.ranking,
          matching.pair_scores)
training  training runs and model versions: start, progress, activate, roll back (-> matching.training)
"""
