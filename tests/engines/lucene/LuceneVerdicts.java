// Runs Lucene query_string-style queries (the `lucene` target's output) against events indexed
// the way Elasticsearch maps ECS: analysed text fields (StandardAnalyzer, no stop words, like
// Elasticsearch's `standard` analyser), keyword fields as exact terms, long fields as points,
// and `_exists_` answered from an indexed list of present field names (Elasticsearch's
// `_field_names`). Used by tests/test_lucene_engine.py.
//
// Usage: java LuceneVerdicts EVENTS QUERIES TEXT_FIELDS LONG_FIELDS
//   EVENTS:  one event per line, tab-separated name=value pairs; in values \\ \t \n are escaped
//   QUERIES: one query per line
//   TEXT_FIELDS, LONG_FIELDS: comma-separated field names
// Prints, per query, the 0-based line numbers of the matching events separated by spaces,
// or "ERROR <message>" when the query does not parse.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.analysis.miscellaneous.PerFieldAnalyzerWrapper;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

public class LuceneVerdicts {
    static final String EXISTS = "_exists_";
    static final String ID = "_line";

    static String unescape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                out.append(n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n);
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Elasticsearch's query_string on a long field: exact values and ranges are numeric. */
    static class EcsQueryParser extends QueryParser {
        final Set<String> longs;

        EcsQueryParser(Analyzer analyzer, Set<String> longs) {
            super("message", analyzer);
            this.longs = longs;
            setAllowLeadingWildcard(true);
            setSplitOnWhitespace(true);
        }

        @Override
        protected Query getFieldQuery(String field, String text, boolean quoted) throws ParseException {
            // query_string's one-sided ranges (field:>=10, field:<5), as Elasticsearch's
            // QueryStringQueryParser reads them; the classic grammar hands them over as terms.
            if (!quoted) {
                for (String op : new String[] {">=", "<=", ">", "<"}) {
                    if (text.startsWith(op) && text.length() > op.length()) {
                        String bound = text.substring(op.length());
                        boolean inclusive = op.endsWith("=");
                        return op.startsWith(">")
                            ? getRangeQuery(field, bound, null, inclusive, true)
                            : getRangeQuery(field, null, bound, true, inclusive);
                    }
                }
            }
            if (longs.contains(field)) {
                try {
                    return LongPoint.newExactQuery(field, Long.parseLong(text));
                } catch (NumberFormatException e) {
                    return new MatchNoDocsQuery();
                }
            }
            return super.getFieldQuery(field, text, quoted);
        }

        // Elasticsearch's query_string adds a match-all to a purely negative group
        // ("(NOT a)" alone), which plain Lucene would match against nothing.
        @Override
        protected Query getBooleanQuery(List<BooleanClause> clauses) throws ParseException {
            Query query = super.getBooleanQuery(clauses);
            if (query instanceof BooleanQuery && !clauses.isEmpty()
                    && clauses.stream().allMatch(c -> c.getOccur() == BooleanClause.Occur.MUST_NOT)) {
                BooleanQuery.Builder fixed = new BooleanQuery.Builder();
                for (BooleanClause clause : ((BooleanQuery) query).clauses()) fixed.add(clause);
                fixed.add(new MatchAllDocsQuery(), BooleanClause.Occur.FILTER);
                return fixed.build();
            }
            return query;
        }

        @Override
        protected Query getRangeQuery(String field, String lower, String upper,
                                      boolean lowerInclusive, boolean upperInclusive) throws ParseException {
            if (longs.contains(field)) {
                long lo = lower == null || lower.equals("*") ? Long.MIN_VALUE : Long.parseLong(lower);
                long hi = upper == null || upper.equals("*") ? Long.MAX_VALUE : Long.parseLong(upper);
                if (!lowerInclusive && lo != Long.MAX_VALUE) lo += 1;
                if (!upperInclusive && hi != Long.MIN_VALUE) hi -= 1;
                return LongPoint.newRangeQuery(field, lo, hi);
            }
            return super.getRangeQuery(field, lower, upper, lowerInclusive, upperInclusive);
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> events = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        List<String> queries = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        Set<String> texts = new HashSet<>(Arrays.asList(args[2].split(",")));
        Set<String> longs = new HashSet<>(Arrays.asList(args[3].split(",")));

        Map<String, Analyzer> perField = new HashMap<>();
        Analyzer standard = new StandardAnalyzer(CharArraySet.EMPTY_SET);
        for (String t : texts) perField.put(t, standard);
        Analyzer analyzer = new PerFieldAnalyzerWrapper(new KeywordAnalyzer(), perField);

        Directory dir = new ByteBuffersDirectory();
        try (IndexWriter writer = new IndexWriter(dir, new IndexWriterConfig(analyzer))) {
            for (int line = 0; line < events.size(); line++) {
                Document doc = new Document();
                doc.add(new StringField(ID, Integer.toString(line), Field.Store.YES));
                String raw = events.get(line);
                if (!raw.isEmpty()) {
                    for (String pair : raw.split("\t")) {
                        int eq = pair.indexOf('=');
                        String name = pair.substring(0, eq);
                        String value = unescape(pair.substring(eq + 1));
                        doc.add(new StringField(EXISTS, name, Field.Store.NO));
                        if (texts.contains(name)) {
                            doc.add(new TextField(name, value, Field.Store.NO));
                        } else if (longs.contains(name)) {
                            doc.add(new LongPoint(name, Long.parseLong(value)));
                        } else {
                            doc.add(new StringField(name, value, Field.Store.NO));
                        }
                    }
                }
                writer.addDocument(doc);
            }
        }

        try (DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            StringBuilder out = new StringBuilder();
            for (String text : queries) {
                EcsQueryParser parser = new EcsQueryParser(analyzer, longs);
                try {
                    Query query = parser.parse(unescape(text));  // one escaped query per line
                    TreeSet<Integer> hits = new TreeSet<>();
                    for (ScoreDoc sd : searcher.search(query, Math.max(1, events.size())).scoreDocs) {
                        hits.add(Integer.parseInt(searcher.doc(sd.doc).get(ID)));
                    }
                    List<String> parts = new ArrayList<>();
                    for (Integer h : hits) parts.add(h.toString());
                    out.append(String.join(" ", parts)).append('\n');
                } catch (ParseException | RuntimeException e) {
                    out.append("ERROR ").append(e.getMessage().replace('\n', ' ')).append('\n');
                }
            }
            System.out.print(out);
        }
    }
}
