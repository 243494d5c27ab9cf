// Runs regular expressions through real Lucene against keyword values, for
// tests/test_lucene_engine.py (the regex tests): which values does each regexp accept?
//
// Usage: java LuceneRegexVerdicts VALUES QUERIES
//   VALUES:  one keyword value per line; \\ \t \n \r are escaped
//   QUERIES: one per line, escaped the same way, each either
//            "Q<tab><query_string>" parsed by Lucene's classic QueryParser (as the lucene
//            target's output is, on the keyword field "v"), or "S<tab><query_string>" parsed
//            the same way but with setSplitOnWhitespace(false) (runs of plain terms analysed
//            together; wildcard and prefix terms still end at whitespace), or
//            "R<tab><regexp>" run as Lucene's RegexpQuery on "v" (EQL regex, ES|QL RLIKE), or
//            "W<tab><pattern>" run as Lucene's WildcardQuery on "v" (Elasticsearch's wildcard
//            query on a keyword field: Kibana's KQL wildcard value on a keyword field)
// Prints, per query, the 0-based line numbers of the matching values separated by spaces, or
// "ERROR <message>" when the query or regexp does not parse.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.TreeSet;

import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.RegexpQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

public class LuceneRegexVerdicts {
    static final String FIELD = "v";
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

    public static void main(String[] args) throws Exception {
        List<String> values = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        List<String> queries = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        Directory dir = new ByteBuffersDirectory();
        try (IndexWriter writer = new IndexWriter(dir, new IndexWriterConfig(new KeywordAnalyzer()))) {
            for (int line = 0; line < values.size(); line++) {
                Document doc = new Document();
                doc.add(new StringField(ID, Integer.toString(line), Field.Store.YES));
                doc.add(new StringField(FIELD, unescape(values.get(line)), Field.Store.NO));
                writer.addDocument(doc);
            }
        }
        StringBuilder out = new StringBuilder();
        try (DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            for (String raw : queries) {
                String text = unescape(raw.substring(2));
                Query query;
                try {
                    if (raw.startsWith("Q\t") || raw.startsWith("S\t")) {
                        QueryParser parser = new QueryParser(FIELD, new KeywordAnalyzer());
                        parser.setAllowLeadingWildcard(true);
                        parser.setSplitOnWhitespace(raw.startsWith("Q\t"));
                        query = parser.parse(text);
                    } else if (raw.startsWith("W\t")) {
                        query = new WildcardQuery(new Term(FIELD, text));
                    } else {
                        query = new RegexpQuery(new Term(FIELD, text));
                    }
                } catch (Exception e) {
                    // One line: the message may quote the regexp, newlines and all.
                    String message = String.valueOf(e.getMessage())
                        .replaceAll("[\\p{Cntrl}\\u0085\\u2028\\u2029]", " ");
                    out.append("ERROR ").append(message).append('\n');
                    continue;
                }
                TreeSet<Integer> hits = new TreeSet<>();
                for (ScoreDoc sd : searcher.search(query, Math.max(1, values.size())).scoreDocs) {
                    hits.add(Integer.parseInt(searcher.doc(sd.doc).get(ID)));
                }
                StringBuilder line = new StringBuilder();
                for (int hit : hits) {
                    if (line.length() > 0) line.append(' ');
                    line.append(hit);
                }
                out.append(line).append('\n');
            }
        }
        System.out.print(out);
    }
}
